"""Run-directory housekeeping that two processes may do at once."""
from softbond.kernel import runfiles


def test_remove_tree_of_a_directory_another_up_removed_first(tmp_path):
    """Two `up`s collecting the same stale netns directory: the second one
    finds it gone and has nothing to do (it raised FileNotFoundError, and
    `up` failed with "unexpected error")."""
    stale = tmp_path / "netns-4026532000"
    stale.mkdir()
    (stale / "bond0.json").write_text("{}")
    runfiles.remove_tree(str(stale))
    assert not stale.exists()
    runfiles.remove_tree(str(stale))        # the slower collector
