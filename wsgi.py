from hub import create_app
from hub.audit.chainer import start_chainer

app = create_app()
start_chainer(app)  # links this process's (and any other's) waiting AuditEvents into the hash chain
