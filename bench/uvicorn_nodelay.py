"""`python -m bench.uvicorn_nodelay ARGS`: the uvicorn CLI with the TCP_NODELAY fix that
`autofactura serve --workers N` applies (api.cli._keep_tcp_nodelay; uvicorn issue #3149),
so multi-worker bench runs measure the server as it is shipped."""
if __name__ == "__main__":  # spawned workers re-import this module: only the supervisor runs it
    from uvicorn.main import main

    from api.cli import _keep_tcp_nodelay

    _keep_tcp_nodelay()
    main()
