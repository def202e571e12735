#!/usr/bin/env python3
"""Asks two running servers (over the same database) the same stock searches and reports
any answer that differs, following next_cursor a few pages deep.

Used to check that a faster search gives exactly the results of the one before it:

    bench/compare_search.py http://127.0.0.1:8091 http://127.0.0.1:8092 [searches]
"""
import json
import random
import sys
import urllib.error
import urllib.request

CATEGORIES = ["doors", "wood", "windows", "radiators", "bricks-masonry", "metals", "sanitary",
              "insulation", "doors-fire", "zinc"]


def searches(count):
    rng = random.Random(7)
    for i in range(count):
        lat = 52.0705 + (rng.random() - 0.5) * 0.16
        lon = 4.3007 + (rng.random() - 0.5) * 0.24
        category = rng.choice(CATEGORIES)
        kind = i % 10
        near = f"near={lat:.4f},{lon:.4f}"
        if kind == 0:
            yield f"category={category}&{near}&radius_km=3&limit=20"
        elif kind == 1:
            yield f"{near}&radius_km=2&condition_min=good&limit=20"
        elif kind == 2:
            yield f"category={category}&status=available&max_price=5000&currency=EUR&limit=20"
        elif kind == 3:
            yield f"category={category}&{near}&radius_km=5&min_quantity=10&limit=20"
        elif kind == 4:
            yield f"q=deuren&{near}&radius_km=4&limit=7"
        elif kind == 5:
            yield f"category={category}&status=announced,reserved&sort=date&limit=15"
        elif kind == 6:
            yield f"{near}&radius_km=0.3&limit=100"
        elif kind == 7:
            yield f"q=zink%20OR%20beton&category={category}&limit=10"
        elif kind == 8:
            yield f"{near}&radius_km=8&sort=date&available_by=2026-12-01T00:00:00Z&limit=9"
        else:
            yield f"category={category}&{near}&radius_km=1.5&max_price=20000&currency=KRL&limit=5"


def get(base, query):
    try:
        with urllib.request.urlopen(f"{base}/api/v1/listings?{query}") as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def main():
    old, new = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    differ = pages = 0
    for query in searches(count):
        cursor = None
        for _ in range(3):
            paged = f"{query}&cursor={cursor}" if cursor else query
            a, b = get(old, paged), get(new, paged)
            pages += 1
            if a != b:
                differ += 1
                print(f"DIFFERENT: {paged}\n  old: {json.dumps(a)[:300]}\n  new: {json.dumps(b)[:300]}")
                break
            cursor = a[1].get("next_cursor") if a[0] == 200 else None
            if not cursor:
                break
    print(f"{pages} pages compared, {differ} different")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
