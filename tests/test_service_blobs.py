"""Both blob stores keep the same promises: content-addressed, never overwritten, missing = BLOB_MISSING."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from receipt.errors import ReceiptError
from receipt.service.blobs import BlobStore, DirectoryBlobStore
from receipt.service.blobs_db import DatabaseBlobStore
from receipt.service.runtime import open_blob_store
from tests.service_fixtures import Backend


@pytest.fixture
def store(backend: Backend) -> Iterator[BlobStore]:
    if backend.name == "sqlite":
        yield DirectoryBlobStore(backend.root / "blob-test")
        return
    db_store = DatabaseBlobStore(backend.database_url)
    yield db_store
    db_store.close()


def test_put_get_exists_delete(store: BlobStore) -> None:
    data = b"\xff\xd8 photo bytes \x00\x01" * 1000
    sha = store.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.exists(sha) and store.get(sha) == data
    assert store.put(data) == sha  # same content again: a no-op
    assert store.put_chunks([data[:10], data[10:]]) == sha
    assert store.delete(sha) and not store.exists(sha) and not store.delete(sha)
    with pytest.raises(ReceiptError) as missing:
        store.get(sha)
    assert missing.value.code == "BLOB_MISSING" and missing.value.status == 500


def test_hostile_names_are_refused(store: BlobStore) -> None:
    for name in ("../../etc/passwd", "F" * 64, "a" * 63, "' OR 1=1 --"):
        with pytest.raises(ValueError):
            store.get(name)


def test_concurrent_puts_of_the_same_content_store_it_once(store: BlobStore) -> None:
    data = b"same upload, eight clients" * 500
    with ThreadPoolExecutor(8) as pool:
        shas = set(pool.map(lambda _: store.put(data), range(16)))
    assert shas == {hashlib.sha256(data).hexdigest()} and store.get(shas.pop()) == data


def test_storage_url_wins_over_storage_dir(backend: Backend) -> None:
    chosen = open_blob_store(backend.settings())
    expected = DatabaseBlobStore if backend.name == "postgresql" else DirectoryBlobStore
    assert isinstance(chosen, expected)
    if isinstance(chosen, DatabaseBlobStore):
        chosen.close()
