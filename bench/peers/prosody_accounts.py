#!/usr/bin/python3
"""Create Prosody 0.12 accounts by writing the account files directly.

Usage: prosody_accounts.py DATA_PATH DOMAIN PREFIX COUNT PASSWORD ITERATIONS

Writes DATA_PATH/<host>/accounts/<PREFIX><i>.dat for i = 1..COUNT, holding
the same fields mod_auth_internal_hashed stores when it creates a user
(SCRAM-SHA-1: hex stored_key and server_key, a UUID string as salt, and the
iteration count).  `prosodyctl register` starts a whole Prosody per user;
this does only the PBKDF2 work, spread over all CPUs.  Standard library only.
"""
import hashlib
import hmac
import os
import sys
import uuid
from concurrent.futures import ProcessPoolExecutor


def path_encode(name):
    """util.datamanager's encode(): every byte outside [A-Za-z0-9] -> %xx."""
    out = []
    for b in name.encode("utf-8"):
        c = chr(b)
        out.append(c if c.isascii() and c.isalnum() else "%%%02x" % b)
    return "".join(out)


def account_record(password, iterations):
    salt = str(uuid.uuid4())
    salted = hashlib.pbkdf2_hmac("sha1", password, salt.encode(), iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha1).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha1).digest()
    stored_key = hashlib.sha1(client_key).digest()
    return (
        "return {\n"
        f'\t["iteration_count"] = {iterations};\n'
        f'\t["salt"] = "{salt}";\n'
        f'\t["server_key"] = "{server_key.hex()}";\n'
        f'\t["stored_key"] = "{stored_key.hex()}";\n'
        "};\n"
    )


def write_range(args):
    accounts_dir, prefix, first, last, password, iterations = args
    for i in range(first, last + 1):
        target = os.path.join(accounts_dir, path_encode(f"{prefix}{i}") + ".dat")
        tmp = target + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(account_record(password, iterations))
        os.replace(tmp, target)
    return last - first + 1


def main():
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    data_path, domain, prefix, count, password, iterations = sys.argv[1:]
    count, iterations = int(count), int(iterations)
    if not password.isascii():
        # Prosody SASLprep-normalises passwords; ASCII needs no normalisation.
        sys.exit("only ASCII passwords are supported")
    accounts_dir = os.path.join(data_path, path_encode(domain), "accounts")
    os.makedirs(accounts_dir, exist_ok=True)
    workers = max(1, min(os.cpu_count() or 1, 8))
    step = max(1, -(-count // (workers * 4)))
    jobs = [
        (accounts_dir, prefix, lo, min(lo + step - 1, count), password.encode(), iterations)
        for lo in range(1, count + 1, step)
    ]
    if workers == 1 or len(jobs) == 1:
        done = sum(map(write_range, jobs))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            done = sum(pool.map(write_range, jobs))
    if done != count:
        sys.exit(f"wrote {done} of {count} accounts")


if __name__ == "__main__":
    main()
