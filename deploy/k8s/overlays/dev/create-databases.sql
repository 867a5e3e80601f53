-- One database per service (BRIEF §2), created when the dev PostgreSQL first initialises its
-- volume. A new service with a database adds its line here and its URL to dev-secrets.env.
CREATE DATABASE identity;
CREATE DATABASE posts;
CREATE DATABASE social_graph;
CREATE DATABASE messaging;
CREATE DATABASE timeline;
CREATE DATABASE search_indexer;
CREATE DATABASE notifier;
