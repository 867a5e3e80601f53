from microblog_shared.runtime.service import ServiceSpec, main, run_relay
from social_graph.app import create_app
from social_graph.settings import SocialGraphSettings

main(
    ServiceSpec(
        name="social-graph",
        package="social_graph",
        create_app=create_app,
        workers={"relay": run_relay},
        settings_class=SocialGraphSettings,
    )
)
