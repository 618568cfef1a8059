"""The workshop hub: JupyterHub where every participant gets JupyterLab with a private engine.

One machine, one command (``python -m hub up``). Each participant's server is a *sandbox*
container started by the host engine **without** ``--privileged``, the docker socket or any
host path; inside it the participant (an unprivileged user) has their own rootless Docker
engine. See ``hub/README.md`` for the security options and why each is needed.

Modules:
    sandbox     the security options, labels, names and limits of one participant's sandbox
    spawner     DockerSpawner subclass: per-participant network and volumes, removed on stop
    firewall    iptables: sandboxes reach the hub's API port and nothing else on the host
    image       build the sandbox image offline from the course's Debian base
    client      log in through the hub's REST API, start a server, run code in its kernel
    cli         ``python -m hub build|up|status|down``
"""
