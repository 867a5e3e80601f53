from microblog_shared.runtime.service import ServiceSpec, main

from gateway.app import create_app
from gateway.settings import GatewaySettings

main(ServiceSpec(name="gateway", package="gateway", create_app=create_app, has_migrations=False,
                 settings_class=GatewaySettings))
