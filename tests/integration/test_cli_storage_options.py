"""``--storage-options`` of the command line, and storage options of a conversion between a local file
and an object store (a real S3 endpoint: moto on 127.0.0.1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import hdmf_zarr
from content.cases import assert_equal, build
from hdmf_zarr import NWBZarrIO
from hdmf_zarr.cli import main
from hdmf_zarr.errors import InvalidOptionError
from support.servers import S3Server

pytestmark = pytest.mark.xdist_group("s3")


@pytest.fixture
def no_env_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the options given reach the client: no endpoint in the environment."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ALLOW_HTTP"):
        monkeypatch.delenv(name, raising=False)


def _on_s3(s3: S3Server, key: str) -> str:
    url = f"s3://{s3.bucket}/{key}"
    with NWBZarrIO(url, mode="w", storage_options=s3.storage_options()) as io:
        io.write(build("nwb_ecephys")[0])
    return url


@pytest.mark.usefixtures("no_env_endpoint")
def test_info_and_validate_take_storage_options(s3: S3Server, capsys: pytest.CaptureFixture[str]) -> None:
    url = _on_s3(s3, "cli-options/session.nwb.zarr")
    options = json.dumps(s3.storage_options())
    assert main(["info", url, "--storage-options", options]) == 0
    out = capsys.readouterr().out
    assert f"{url}: Zarr v3 HDMF file, consolidated metadata: True" in out
    assert "state: complete" in out
    assert "/acquisition/" in out
    assert main(["validate", "--storage-options", options, url]) == 0
    assert f"{url}: 0 validation error(s)" in capsys.readouterr().out


@pytest.mark.usefixtures("no_env_endpoint")
def test_convert_between_a_folder_and_s3_with_storage_options(
    s3: S3Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The options configure the side that is a URL; the local side takes none (it would refuse them)."""
    url = _on_s3(s3, "cli-options/source.nwb.zarr")
    local = tmp_path / "copy.nwb.zarr"
    options = s3.storage_options()
    assert main(["convert", url, str(local), "--storage-options", json.dumps(options)]) == 0
    back = f"s3://{s3.bucket}/cli-options/back.nwb.zarr"
    hdmf_zarr.convert(local, back, storage_options=options)  # the library call, the other way
    expected, _ = build("nwb_ecephys", expected=True)
    with NWBZarrIO(local, mode="r") as io:
        assert_equal(expected, io.read())
    with NWBZarrIO(back, mode="r", storage_options=options) as io:
        assert_equal(expected, io.read())
    capsys.readouterr()


def test_storage_options_with_no_url_to_configure_are_refused(tmp_path: Path) -> None:
    src = tmp_path / "src.nwb.zarr"
    with NWBZarrIO(src, mode="w") as io:
        io.write(build("nwb_ecephys")[0])
    with pytest.raises(InvalidOptionError, match=r"\['anon'\] were given, but neither .* is a URL"):
        hdmf_zarr.convert(src, tmp_path / "dst.nwb.zarr", storage_options={"anon": True})
    assert not (tmp_path / "dst.nwb.zarr").exists()


@pytest.mark.parametrize("text", ["{not json", "[1, 2]"])
def test_storage_options_that_are_not_a_json_object_are_a_usage_error(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["info", "s3://nwb/x.nwb.zarr", "--storage-options", text])
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert "argument --storage-options:" in err
    assert "JSON" in err
