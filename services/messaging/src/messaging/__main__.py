from messaging.app import create_app
from messaging.settings import MessagingSettings
from microblog_shared.runtime.service import ServiceSpec, main, run_relay

main(
    ServiceSpec(
        name="messaging",
        package="messaging",
        create_app=create_app,
        workers={"relay": run_relay},
        settings_class=MessagingSettings,
    )
)
