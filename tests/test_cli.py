from ecinstruct.cli import main


def test_build_then_stats(tmp_path, sample_file, capsys):
    out = tmp_path / "hub"
    assert main(["build", "--source", str(sample_file), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "kept all" in printed and str(out) in printed
    assert main(["stats", str(out)]) == 0
    table = capsys.readouterr().out
    assert "default" in table and "one_shot" in table
    ave = next(line for line in table.splitlines() if line.startswith("AVE"))
    assert ave.split()[1:] == ["4", "2", "3", "2"]


def test_errors_exit_2_with_a_message(tmp_path, capsys):
    assert main(["stats", str(tmp_path)]) == 2
    assert "expected a folder written by `ecinstruct build`" in capsys.readouterr().err
    assert main(["build", "--source", str(tmp_path / "x.json"), "--out", str(tmp_path / "o")]) == 2


def test_build_raw_list_and_missing_out(capsys, shared_dir):
    assert main(["build-raw", "--raw-dir", str(shared_dir / "data" / "raw"), "--list"]) == 0
    listed = capsys.readouterr().out.split()
    assert {"PM", "SA", "SR"} <= set(listed)
    assert main(["build-raw", "--raw-dir", str(shared_dir / "data" / "raw")]) == 2
    assert "needs --out" in capsys.readouterr().err
