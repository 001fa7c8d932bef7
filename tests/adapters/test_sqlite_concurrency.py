"""Several threads and several processes on one SQLite file at once."""

import multiprocessing
import queue
import sqlite3
import threading
import time
import traceback
from pathlib import Path

import pytest

from searchable import Searchable, v1_query
from contract.test_repository_contract import new_image
from tim.adapters.sqlite.repository import SqliteRepository
from tim.domain.model.paging import PageRequest

# Generous limits that only a hung test reaches; they keep it from hanging.
WAIT_SECONDS = 120


def run_in_processes(target, count, *args) -> list[str]:
    """Run `target(barrier, *args)` in `count` new processes (a barrier lets
    them start together); returns the traceback of every one that failed."""
    context = multiprocessing.get_context("spawn")  # no fork of a threaded pytest
    barrier, reports = context.Barrier(count), context.Queue()
    processes = [
        context.Process(target=_reporting, args=(target, barrier, reports, *args), daemon=True) for _ in range(count)
    ]
    for process in processes:
        process.start()
    try:
        # Read before joining: a child does not exit until its report is read.
        results = [reports.get(timeout=WAIT_SECONDS) for _ in processes]
    except queue.Empty:
        results = ["a process neither finished nor failed in time"]
    for process in processes:
        process.join(timeout=WAIT_SECONDS)
        if process.is_alive():
            process.terminate()
            process.join()
    return [result for result in results if result != "ok"]


def _reporting(target, barrier, reports, *args):
    try:
        target(barrier, *args)
    except BaseException:
        barrier.abort()  # release the others at once instead of at their timeout
        reports.put(traceback.format_exc())
    else:
        reports.put("ok")


def _open_new_files_together(barrier, paths):
    for path in paths:
        barrier.wait(timeout=WAIT_SECONDS)
        repository = Searchable(SqliteRepository.open(Path(path)))
        try:
            repository.add_image(new_image(tags=("first",)))
        finally:
            repository.close()


def test_processes_opening_a_new_file_at_once_migrate_it_once(tmp_path):
    workers = 4
    paths = [str(tmp_path / f"race-{n}.db") for n in range(10)]
    assert run_in_processes(_open_new_files_together, workers, paths) == []
    for path in paths:
        repository = Searchable(SqliteRepository.open(Path(path)))
        try:
            assert repository.find_images(v1_query(), PageRequest()).total_results == workers
            assert [t.name for t in repository.list_tags(PageRequest()).results] == ["first"]
        finally:
            repository.close()


def _add_images(barrier, path, images):
    repository = Searchable(SqliteRepository.open(Path(path)))
    try:
        barrier.wait(timeout=WAIT_SECONDS)
        for n in range(images):
            # "round-n" is new to the file at about the same moment in every process
            repository.add_image(new_image(tags=("shared", "also shared", f"round-{n}"), created_by=f"{n}"))
    finally:
        repository.close()


def test_writers_in_several_processes_share_new_tags(tmp_path):
    path, workers, images = tmp_path / "tim.db", 4, 25
    Searchable(SqliteRepository.open(path)).close()
    assert run_in_processes(_add_images, workers, str(path), images) == []

    repository = Searchable(SqliteRepository.open(path))
    try:
        names = [t.name for t in repository.list_tags(PageRequest()).results]
        assert len(names) == len(set(names)) == 2 + images
        everything = repository.find_images(v1_query(), PageRequest(0, 100))
        assert everything.total_results == workers * images
        assert {image.tag_names for image in everything.results} == {
            frozenset({"shared", "also shared", f"round-{n}"}) for n in range(images)
        }
        for n in range(images):
            query = v1_query(exact_tags=({"shared", f"round-{n}"}))
            assert repository.find_images(query, PageRequest()).total_results == workers
    finally:
        repository.close()


def test_threads_reading_and_writing_through_one_repository(tmp_path):
    repository = Searchable(SqliteRepository.open(tmp_path / "tim.db"))
    errors, threads_count, rounds = [], 8, 15

    def work(thread):
        try:
            for n in range(rounds):
                image = repository.add_image(new_image(tags=("shared", f"thread-{thread}", f"round-{n}")))
                repository.set_image_tags(image.id, ["shared", f"round-{n}", "retagged"])
                assert repository.find_images(v1_query(exact_tags=({"retagged"})), PageRequest()).total_results >= 1
                repository.list_tags(PageRequest())
                if n % 3 == 0:
                    repository.delete_image(image.id)
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(thread,)) for thread in range(threads_count)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        kept = threads_count * (rounds - len(range(0, rounds, 3)))
        retagged = repository.find_images(v1_query(exact_tags=({"retagged"})), PageRequest())
        assert retagged.total_results == kept
        names = [t.name for t in repository.list_tags(PageRequest()).results]
        assert len(names) == len(set(names)) == 2 + threads_count + rounds
    finally:
        repository.close()


def test_a_writer_waits_for_another_process_lock_instead_of_failing(tmp_path):
    path = tmp_path / "tim.db"
    repository = Searchable(SqliteRepository.open(path))
    holder = sqlite3.connect(path, isolation_level=None)  # stands in for another process
    outcome, trying = [], threading.Event()

    def write():
        trying.set()
        try:
            outcome.append(repository.add_tag("patient"))
        except Exception as error:  # noqa: BLE001 - asserted below
            outcome.append(error)

    try:
        holder.execute("BEGIN IMMEDIATE")
        writer = threading.Thread(target=write)
        writer.start()
        trying.wait()
        time.sleep(0.3)  # not an assertion: gives the writer time to hit the lock
        holder.execute("ROLLBACK")
        writer.join()
        assert [getattr(result, "name", result) for result in outcome] == ["patient"]
    finally:
        holder.close()
        repository.close()


def _write_in_forked_child(repository):
    inherited = set(map(id, repository._pool._idle))
    assert inherited, "the parent left no idle connection to inherit"
    repository.add_image(new_image(tags=("from the child",)))
    assert not inherited & set(map(id, repository._pool._idle)), "the child used its parent's connection"
    repository.close()


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform")
def test_a_forked_child_opens_its_own_connections(tmp_path):
    repository = Searchable(SqliteRepository.open(tmp_path / "tim.db"))
    try:
        repository.add_image(new_image(tags=("from the parent",)))  # leaves an idle connection in the pool
        context = multiprocessing.get_context("fork")
        child = context.Process(target=_write_in_forked_child, args=(repository,))
        child.start()
        child.join(timeout=WAIT_SECONDS)
        assert child.exitcode == 0
        names = {t.name for t in repository.list_tags(PageRequest()).results}
        assert names == {"from the parent", "from the child"}
    finally:
        repository.close()
