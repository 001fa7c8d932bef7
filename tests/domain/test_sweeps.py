from managers import in_memory_manager
from tim.domain.model.images import new_blob_key
from tim.domain.use_cases.sweeps import SweepReport


def test_the_sweep_settles_every_kind_of_leftover():
    tim = in_memory_manager(direct_uploads=True)
    arrived = tim.create_image(created_by="a", filename="a", size=3).image
    wrong = tim.create_image(created_by="a", filename="b", size=3).image
    never = tim.create_image(created_by="a", filename="c", size=3).image
    stored = tim.upload_image(created_by="a", filename="d", data=b"abc")
    tim.ports.blobs.put(arrived.blob_key, [b"abc"], 3)
    tim.ports.blobs.put(wrong.blob_key, [b"abcd"], 4)
    orphan = new_blob_key()
    tim.ports.blobs.put(orphan, [b"x"], 1)

    report = tim.reconcile()
    assert report == SweepReport(completed=1, rejected=1)
    assert tim.get_image(arrived.id).is_uploaded
    assert tim.ports.blobs.stat(wrong.blob_key) is None

    tim.ports.clock.advance(3601)
    young = new_blob_key()
    tim.ports.blobs.put(young, [b"y"], 1)  # within the grace period: maybe a one-shot upload in flight
    report = tim.reconcile(remove_orphans=True, expire_pending_after=1800)
    assert report == SweepReport(expired=2, orphans=1)  # `wrong` and `never` were still pending
    assert {image.id for image in tim.list_images().results} == {arrived.id, stored.id}
    assert tim.ports.blobs.stat(orphan) is None and tim.ports.blobs.stat(young) == 1
    assert b"".join(tim.ports.blobs.get(stored.blob_key)) == b"abc"
    assert never.id not in {image.id for image in tim.list_images().results}

    assert tim.reconcile(remove_orphans=True) == SweepReport()  # idempotent


def test_an_upload_completing_during_the_sweep_is_kept():
    tim = in_memory_manager()
    created = tim.create_image(created_by="a", filename="a", size=3)
    tim.ports.clock.advance(7200)
    real_confirm = tim.ports.blobs.confirm_upload

    def confirm_then_upload_lands(key, size):
        state = real_confirm(key, size)
        tim.upload_file(created.image.id, [b"abc"])  # the PUT that was running completes now
        return state

    tim.ports.blobs.confirm_upload = confirm_then_upload_lands
    assert tim.reconcile(expire_pending_after=3600).expired == 0
    assert tim.get_image(created.image.id).is_uploaded
    assert tim.ports.blobs.stat(created.image.blob_key) == 3
