from microblog_shared.runtime.service import ServiceSpec, main
from web.app import create_app
from web.settings import WebSettings

main(ServiceSpec(name="web", package="web", create_app=create_app, has_migrations=False, settings_class=WebSettings))
