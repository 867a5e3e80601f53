from microblog_shared.runtime.service import ServiceSpec, main, projector
from notifier.app import create_app
from notifier.mailer import run_mailer
from notifier.projection import SPEC
from notifier.settings import NotifierSettings

main(
    ServiceSpec(
        name="notifier",
        package="notifier",
        create_app=create_app,
        settings_class=NotifierSettings,
        workers={"projector": projector(SPEC.make), "mailer": run_mailer},
    )
)
