from microblog_shared.service import ServiceSpec, main, run_relay

from social_graph.app import create_app
from social_graph.settings import SocialGraphSettings

# main() builds the base Settings; the API needs ours (identity's URL), read from the environment.
main(ServiceSpec(name="social-graph", package="social_graph",
                 create_app=lambda settings: create_app(SocialGraphSettings(**settings.model_dump())),
                 workers={"relay": run_relay}))
