from microblog_shared.runtime.service import ServiceSpec, main, run_relay

from identity.app import create_app

main(ServiceSpec(name="identity", package="identity", create_app=create_app, workers={"relay": run_relay}))
