from microblog_shared.runtime.migrations import run_env

run_env()
