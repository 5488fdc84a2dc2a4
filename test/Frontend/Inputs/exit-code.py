"""exit-code.py N cmd args...: runs cmd, passing its output through, and
succeeds exactly when cmd exits with status N (lit's `not` accepts any
failure; circc's exit codes 1 and 2 mean different things)."""
import subprocess
import sys

expected = int(sys.argv[1])
status = subprocess.call(sys.argv[2:])
if status != expected:
    sys.stderr.write("exit-code.py: expected exit status %d, got %d\n"
                     % (expected, status))
    sys.exit(1)
