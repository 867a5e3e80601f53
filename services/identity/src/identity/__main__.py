from identity.app import create_app
from microblog_shared.runtime.service import ServiceSpec, main, run_relay
from microblog_shared.runtime.settings import Settings

main(
    ServiceSpec(
        name="identity",
        package="identity",
        settings_class=Settings,
        create_app=create_app,
        workers={"relay": run_relay},
    )
)
