from identity.app import create_app
from microblog_shared.runtime.service import ServiceSpec, main, run_relay

main(ServiceSpec(name="identity", package="identity", create_app=create_app, workers={"relay": run_relay}))
