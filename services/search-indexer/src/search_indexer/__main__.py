from microblog_shared.runtime.service import ServiceSpec, main, projector
from search_indexer.app import create_app
from search_indexer.projection import SPEC
from search_indexer.settings import SearchIndexerSettings

main(
    ServiceSpec(
        name="search-indexer",
        package="search_indexer",
        create_app=create_app,
        settings_class=SearchIndexerSettings,
        workers={"projector": projector(SPEC.make)},
    )
)
