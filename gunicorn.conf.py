"""gunicorn settings for the web container (docker-compose.yml passes ``--config`` this file).

The bind address is on the command line, where docker-compose.yml shows it.
"""

from pathlib import Path

from config.env import env_int

workers = env_int("WEB_CONCURRENCY", 3, minimum=1)
# A questionnaire submission or a page is quick; a request still running after this is stuck.
timeout = 60
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so slow leaks cannot grow without bound, but rarely: at 2,000
# a worker taking 100 submissions/s restarted every 20 s, and each restart (a fresh process
# warming its imports and connections) cost about a fifth of the ingest rate under load. The
# jitter staggers the workers, so they never restart together.
max_requests = 20000
max_requests_jitter = 5000
# Worker heartbeats on a memory filesystem: Docker's overlay can stall them.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None
accesslog = "-"
errorlog = "-"
# The control socket would live under $HOME, which the app user cannot write; unused anyway.
control_socket_disable = True
# No raw client address, user agent, referer or secret query value in the access log
# (config/gunicorn_logging.py): addresses are kept only as keyed hashes, in logs too.
logger_class = "config.gunicorn_logging.PrivateAccessLogger"
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms'
