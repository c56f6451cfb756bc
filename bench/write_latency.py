#!/usr/bin/env python3
"""Time from an accepted upload to its tags, as a client sees it: POST /images, the seed's
multipart form to the pre-signed URL, then GET /images/{id} every 5 ms until the image is no
longer pending. Prints "p50_ms p90_ms max_ms" over --count uploads. Standard library only.

    bench/write_latency.py --url http://127.0.0.1:8080 --token TOKEN --image photo.jpg
"""
import argparse
import json
import statistics
import time
import urllib.request
import uuid


def call(method, url, token=None, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, r.read()


def multipart(fields, data, mime):
    boundary = uuid.uuid4().hex
    out = b""
    for k, v in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
    out += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="photo"\r\n'
            f"Content-Type: {mime}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


def one(url, token, data, mime):
    _, body = call("POST", f"{url}/images", token, b"{}", {"Content-Type": "application/json"})
    ticket = json.loads(body)
    form = ticket["formConfig"]
    payload, ctype = multipart(form["formFields"], data, mime)
    status, _ = call("POST", form["uploadUrl"], body=payload, headers={"Content-Type": ctype})
    assert status in (200, 201, 204), status
    accepted = time.monotonic()
    while True:
        _, body = call("GET", f"{url}/images/{ticket['id']}", token)
        img = json.loads(body)
        if img["status"] != "pending":
            assert img["status"] == "tagged" and img["tags"], img
            return (time.monotonic() - accepted) * 1000
        if time.monotonic() - accepted > 30:
            raise SystemExit(f"image {ticket['id']} still pending after 30 s")
        time.sleep(0.005)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--count", type=int, default=20)
    a = p.parse_args()
    data = open(a.image, "rb").read()
    mime = "image/png" if a.image.endswith(".png") else "image/jpeg"
    times = sorted(one(a.url, a.token, data, mime) for _ in range(a.count))
    p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
    print(f"{statistics.median(times):.1f} {p90:.1f} {times[-1]:.1f}")


if __name__ == "__main__":
    main()
