"""The bar for the national join: PostGIS from the same files, beside ``assetmap join``.

The register (id, name, type, postcode, easting, northing: one row per positioned GB postcode,
1.74 million, written by ``scale_bench.write_register``) is joined to the 34,753 E&W LSOAs
both ways, and each round times, wall clock:

- PostGIS **load**: ``COPY`` of the register CSV, points made with ``ST_MakePoint``, the LSOA
  GeoPackage through ``ogr2ogr`` (or, without it, WKB through ``COPY``), GiST indexes on
  both, ``ANALYZE``;
- PostGIS **query**: the polygon-driven join (``FROM lsoa CROSS JOIN LATERAL (... WHERE
  ST_Contains(lsoa.geom, r.geom) OFFSET 0)``; the ``OFFSET 0`` fence keeps the planner from
  flattening it), every register column plus the LSOA code and name, into an unlogged table;
- PostGIS **export**: ``\\copy`` of that table to CSV; and the total;
- ``assetmap join REGISTER -b gb --layers lsoa -o out.csv``, process start to outputs
  written, with its peak memory (``os.wait4``).

Rounds alternate PostGIS and assetmap (A B A B); the table gives medians. PostgreSQL runs as a
throwaway cluster in a temporary folder (``initdb``, as the ``postgres`` user when run as
root), listening on 127.0.0.1 and its own socket only, stopped (``pg_ctl stop -m fast``) and
removed at the end, also on error or interrupt. PostgreSQL and PostGIS are installed with
``apt-get install postgresql postgis`` when missing and this runs as root; when that is not
possible the script says so and exits 0. Defaults of PostgreSQL are kept.

Data: ``$ASSETMAP_DATA_DIR`` (``national/``), default ``assetmap.settings.data_dir()``.

Run: ``python bench/postgis_bench.py [--repeats N] [--register FILE] [--no-install]``
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scale_bench import cli_command, national_files, write_register  # beside this file
from timing import median_run, run_child

STEPS = ("load", "query", "export")
_TIMEOUT = 900  # seconds any one step may take before the run is abandoned
_LOAD_REGISTER = """
CREATE UNLOGGED TABLE register_csv (id text, name text, type text, postcode text,
                                     easting double precision, northing double precision);
\\copy register_csv FROM '{register}' CSV HEADER
CREATE UNLOGGED TABLE register AS
  SELECT *, ST_SetSRID(ST_MakePoint(easting, northing), 27700)::geometry(Point, 27700) AS geom
  FROM register_csv;
DROP TABLE register_csv;
CREATE INDEX ON register USING gist (geom);
"""
_LOAD_WKB = """
CREATE UNLOGGED TABLE lsoa_wkb (lsoa11cd text, lsoa11nm text, wkb text);
\\copy lsoa_wkb FROM '{csv}' CSV HEADER
CREATE UNLOGGED TABLE lsoa AS
  SELECT lsoa11cd, lsoa11nm, ST_GeomFromWKB(decode(wkb, 'hex'), 27700) AS geom FROM lsoa_wkb;
DROP TABLE lsoa_wkb;
CREATE INDEX ON lsoa USING gist (geom);
"""
_QUERY = """
CREATE UNLOGGED TABLE joined AS
  SELECT r.id, r.name, r.type, r.postcode, r.easting, r.northing,
         l.lsoa11cd AS lsoa_code, l.lsoa11nm AS lsoa_name
  FROM lsoa l CROSS JOIN LATERAL (
    SELECT * FROM register r WHERE ST_Contains(l.geom, r.geom) OFFSET 0) r;
"""


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server folder whose share holds PostGIS, if any."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        version = Path(folder).parent.name
        if Path(f"/usr/share/postgresql/{version}/extension/postgis.control").exists():
            return Path(folder)
    return None


def install() -> str | None:
    """``apt-get install postgresql postgis`` when possible; why not, otherwise."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "not root or no apt-get: install postgresql and postgis by hand"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "postgresql", "postgis"]):
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=_TIMEOUT)
        if done.returncode:
            return f"{' '.join(command)} failed: {done.stderr.strip().splitlines()[-1:]}"
    return None


class Cluster:
    """A throwaway PostgreSQL cluster in ``folder``, on 127.0.0.1 and a socket in ``folder``."""

    def __init__(self, bin_dir: Path, folder: Path):
        self.bin, self.data, self.socket = bin_dir, folder / "data", folder
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = str(probe.getsockname()[1])
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        folder.mkdir()
        if self.as_owner:
            shutil.chown(folder, "postgres")

    def start(self) -> None:
        """initdb (trust, local only), then start and wait until it accepts connections."""
        self._owner(self.bin / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres",
                    "--no-sync", "-E", "UTF8")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} "
                   f"-c unix_socket_directories={self.socket}")
        self._owner(self.bin / "pg_ctl", "start", "-w", "-t", "60", "-D", self.data,
                    "-l", self.socket / "server.log", "-o", options)
        self.psql("CREATE DATABASE bench", database="postgres")
        self.psql("CREATE EXTENSION postgis")

    def stop(self) -> None:
        """Stop the server (fast shutdown, bounded wait)."""
        if (self.data / "postmaster.pid").exists():
            self._owner(self.bin / "pg_ctl", "stop", "-m", "fast", "-w", "-t", "60",
                        "-D", self.data, check=False)

    def psql(self, script: str, database: str = "bench") -> None:
        """Run SQL (and psql meta-commands) through psql; stop on the first error."""
        subprocess.run([self.bin / "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                        "-h", str(self.socket), "-p", self.port, "-U", "postgres",
                        "-d", database], input=script, text=True, check=True,
                       capture_output=True, timeout=_TIMEOUT)

    def connection(self) -> str:
        """An OGR connection string for the ``bench`` database."""
        return f"PG:host={self.socket} port={self.port} user=postgres dbname=bench"

    def _owner(self, *command, check: bool = True) -> None:
        subprocess.run([*self.as_owner, *map(str, command)], check=check,
                       capture_output=True, timeout=_TIMEOUT)


def load_lsoa(cluster: Cluster, layer: Path, folder: Path) -> None:
    """The LSOA layer into table ``lsoa`` (geom, GiST): ogr2ogr, or WKB through COPY."""
    if shutil.which("ogr2ogr"):
        subprocess.run(["ogr2ogr", "-f", "PostgreSQL", cluster.connection(), str(layer),
                        "-nln", "lsoa", "-lco", "GEOMETRY_NAME=geom", "-lco", "UNLOGGED=ON",
                        "-select", "lsoa11cd,lsoa11nm", "--config", "PG_USE_COPY", "YES"],
                       check=True, capture_output=True, timeout=_TIMEOUT)
        return
    import geopandas as gpd

    frame = gpd.read_file(layer, columns=["lsoa11cd", "lsoa11nm"])
    frame.assign(wkb=frame.geometry.to_wkb(hex=True)).drop(columns="geometry").to_csv(
        folder / "lsoa_wkb.csv", index=False)
    cluster.psql(_LOAD_WKB.format(csv=folder / "lsoa_wkb.csv"))


def postgis_round(cluster: Cluster, register: Path, layer: Path, folder: Path) -> dict:
    """Seconds of load, query and export, from empty tables."""
    cluster.psql("DROP TABLE IF EXISTS register, lsoa, joined")
    output = folder / "postgis_out.csv"
    output.unlink(missing_ok=True)
    seconds = {}
    start = time.perf_counter()
    cluster.psql(_LOAD_REGISTER.format(register=register))
    load_lsoa(cluster, layer, folder)
    cluster.psql("ANALYZE register; ANALYZE lsoa;")
    seconds["load"] = time.perf_counter() - start
    start = time.perf_counter()
    cluster.psql(_QUERY)
    seconds["query"] = time.perf_counter() - start
    start = time.perf_counter()
    cluster.psql(f"\\copy joined TO '{output}' CSV HEADER")
    seconds["export"] = time.perf_counter() - start
    with output.open("rb") as written:
        seconds["rows"] = sum(1 for _ in written) - 1  # not timed: a check, not a step
    return seconds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--register", type=Path,
                        help="register CSV (default: generated from the GB postcodes)")
    parser.add_argument("--no-install", action="store_true",
                        help="do not apt-get install PostgreSQL/PostGIS when missing")
    args = parser.parse_args(argv)
    bin_dir = postgres_bin()
    if bin_dir is None:
        reason = "--no-install given" if args.no_install else install()
        bin_dir = postgres_bin()
        if bin_dir is None:
            print(f"PostGIS not available, nothing measured: {reason or 'not found after install'}")
            return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so the cluster is stopped
    files = national_files()
    with tempfile.TemporaryDirectory(prefix="postgis_bench_") as temp:
        folder = Path(temp)
        os.chmod(folder, 0o755)  # the server (user postgres) lives in a folder below
        register = folder / "register.csv"
        if args.register:
            shutil.copy(args.register, register)
        else:
            write_register(files["postcodes"], register)
        command = [*cli_command(), "join", str(register), "-b", "gb", "--layers", "lsoa",
                   "-o", str(folder / "assetmap_out.csv")]
        cluster = Cluster(bin_dir, folder / "pg")
        try:
            cluster.start()
            rounds, runs = [], []
            for i in range(args.repeats):
                rounds.append(postgis_round(cluster, register, files["lsoa"], folder))
                runs.append(run_child(command))
                print(f"round {i + 1}: PostGIS {_total(rounds[-1]):.1f} s, "
                      f"assetmap join {runs[-1].seconds:.1f} s", flush=True)
        finally:
            cluster.stop()
    report(rounds, runs, bin_dir)


def _total(seconds: dict) -> float:
    return sum(seconds[step] for step in STEPS)


def report(rounds: list[dict], runs: list, bin_dir: Path) -> None:
    """The table: medians of each step, the total, and assetmap join beside it."""
    print(f"PostgreSQL {bin_dir.parent.name} + PostGIS, {len(rounds)} rounds, median seconds "
          "(CPU shared with other work: noisy)")
    for step in STEPS:
        print(f"  PostGIS {step:<28} {statistics.median(r[step] for r in rounds):7.2f}")
    total = statistics.median(_total(r) for r in rounds)
    print(f"  PostGIS {'total (files to CSV)':<28} {total:7.2f}  "
          f"({rounds[-1]['rows']:,} rows: points inside an LSOA)")
    join = median_run(runs)
    print(f"  {'assetmap join (start to outputs)':<36} {join.seconds:7.2f}  "
          f"peak {join.peak_mb:,.0f} MB (every row, with its match)")
    print(f"  ratio assetmap / PostGIS: {join.seconds / total:.2f} (target < 1, peak < 1 GB)")


if __name__ == "__main__":
    main()
