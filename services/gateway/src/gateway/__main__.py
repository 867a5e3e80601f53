from gateway.app import create_app
from gateway.settings import GatewaySettings
from microblog_shared.runtime.service import ServiceSpec, main

main(
    ServiceSpec(
        name="gateway", package="gateway", create_app=create_app, has_migrations=False, settings_class=GatewaySettings
    )
)
