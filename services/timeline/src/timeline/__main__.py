from microblog_shared.runtime.service import ServiceSpec, main, projector
from timeline.app import create_app
from timeline.projection import SPEC
from timeline.settings import TimelineSettings

main(
    ServiceSpec(
        name="timeline",
        package="timeline",
        create_app=create_app,
        settings_class=TimelineSettings,
        workers={"projector": projector(SPEC.make)},
    )
)
