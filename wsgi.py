from hub import create_app
from hub.audit.chainer import start_chainer

app = create_app()
start_chainer(app)  # from its first request on, this process links waiting AuditEvents into the hash chain
