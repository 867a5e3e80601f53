from microblog_shared.service import ServiceSpec, main

from gateway.app import create_app
from gateway.settings import GatewaySettings

main(ServiceSpec(name="gateway", package="gateway", create_app=lambda _: create_app(GatewaySettings()),
                 has_migrations=False))
