from microblog_shared.runtime.service import ServiceSpec, main, run_relay
from posts.app import create_app
from posts.exporter import run_exporter
from posts.settings import PostsSettings

main(
    ServiceSpec(
        name="posts",
        package="posts",
        create_app=create_app,
        workers={"relay": run_relay, "exporter": run_exporter},
        settings_class=PostsSettings,
    )
)
