from microblog_shared.service import ServiceSpec, main, projector

from timeline.app import create_app
from timeline.projection import TimelineProjection

main(ServiceSpec(name="timeline", package="timeline", create_app=create_app,
                 workers={"projector": projector(TimelineProjection)}))
