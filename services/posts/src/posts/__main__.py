from microblog_shared.service import ServiceSpec, main, run_relay

from posts.app import create_app

main(ServiceSpec(name="posts", package="posts", create_app=create_app, workers={"relay": run_relay}))
