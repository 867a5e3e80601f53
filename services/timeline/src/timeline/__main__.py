from microblog_shared.service import ServiceSpec, main, projector

from timeline.app import create_app
from timeline.projection import TimelineProjection
from timeline.settings import TimelineSettings

main(ServiceSpec(name="timeline", package="timeline", create_app=lambda _: create_app(TimelineSettings()),
                 workers={"projector": projector(lambda: TimelineProjection.from_settings(TimelineSettings()))}))
