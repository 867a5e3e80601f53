-- One database per service (BRIEF §2), created when PostgreSQL first initialises its volume.
-- A new service with a database adds its line here and its URL in docker-compose.yml.
CREATE DATABASE identity;
CREATE DATABASE posts;
CREATE DATABASE social_graph;
CREATE DATABASE messaging;
CREATE DATABASE timeline;
CREATE DATABASE notifier;
CREATE DATABASE search_indexer;
