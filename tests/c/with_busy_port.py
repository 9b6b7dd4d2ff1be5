"""Runs a command with PORT naming a loopback port that this script holds
listening, so the command's server cannot bind it; exits with its status.

Usage: python3 with_busy_port.py COMMAND [ARG...]
"""

import os
import socket
import subprocess
import sys

with socket.socket() as holder:
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    env = dict(os.environ, PORT=str(holder.getsockname()[1]))
    sys.exit(subprocess.call(sys.argv[1:], env=env))
