"""One set of tracker options for every command, and one function making the TrackerConfig."""
import pytest

from siamrpnpp_core import TrackerOptions, get_preset, tracker_config
from siamrpnpp_core.cli import build_parser, main
from siamrpnpp_core.options import tracker_options

TRACKER_COMMANDS = (["track", "v.mp4", "--init", "1,2,3,4"], ["demo"],
                    ["eval", "run", "--dataset", "OTB100", "--root", "r"],
                    ["eval", "search", "--dataset", "OTB100", "--root", "r", "--out", "o"])


def test_tracker_config_applies_preset_then_named_set_then_overrides():
    assert tracker_config("siamrpn_r50_l234_dwxcorr_otb") == get_preset("siamrpn_r50_l234_dwxcorr_otb").tracker
    config = tracker_config("siamrpn_alex_dwxcorr", "mmtracking_uav123", {"lr": 0.2, "long_term": True})
    assert (config.penalty_k, config.window_influence, config.lr, config.long_term) == (0.1, 0.1, 0.2, True)
    assert config.instance_size == 287  # the rest stays the preset's
    with pytest.raises(ValueError, match="unknown tracker option.*penalty"):
        tracker_config("siamrpn_alex_dwxcorr", overrides={"penalty": 0.1})
    with pytest.raises(ValueError, match="unknown hyperparameter set"):
        tracker_config("siamrpn_alex_dwxcorr", "mmtracking_otb")


@pytest.mark.parametrize("command", TRACKER_COMMANDS)
def test_every_tracker_command_reads_the_same_options(command):
    args = build_parser().parse_args(command + ["--preset", "siamrpn_alex_dwxcorr", "--random-weights",
                                                "--hparams", "pysot_otb", "--long-term", "--device", "cpu",
                                                "--backend", "torch", "--precision", "bf16"])
    assert tracker_options(args) == TrackerOptions(
        preset="siamrpn_alex_dwxcorr", random_init=True, hparams="pysot_otb", overrides=(("long_term", True),),
        device="cpu", backend="torch", precision="bf16")


@pytest.mark.parametrize("command", TRACKER_COMMANDS)
@pytest.mark.parametrize("option", [["--backend", "tensorrt"], ["--hparams", "vot2018"], ["--preset", "r50"],
                                    ["--precision", "fp16"]])
def test_bad_choices_are_refused_by_every_command(command, option, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(command + option)
    assert "invalid choice" in capsys.readouterr().err


def test_colour_options_reach_the_config_and_bad_values_are_an_error(tmp_path, monkeypatch, capsys):
    args = build_parser().parse_args(TRACKER_COMMANDS[0] + ["--colour-weight", "0", "--colour-min-similarity", "0.4"])
    config = tracker_options(args).config()
    assert (config.colour_weight, config.colour_min_similarity) == (0.0, 0.4)
    assert get_preset("siamrpn_alex_dwxcorr").tracker.colour_weight == 0  # the authors' tracker: off
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--colour-weight", "2", "--video", ""]) == 2
    assert "colour_weight and colour_min_similarity must be in [0, 1]" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_run_overrides_single_values_and_search_reads_lists():
    run = build_parser().parse_args(TRACKER_COMMANDS[2] + ["--hparams", "pysot_vot", "--lr", "0.3"])
    assert tracker_options(run).config().lr == 0.3 and tracker_options(run).config().penalty_k == 0.05
    search = build_parser().parse_args(TRACKER_COMMANDS[3] + ["--lr", "0.3,0.4"])
    assert search.grid_lr == "0.3,0.4" and tracker_options(search).overrides == ()


def test_former_option_names_still_work():
    score = ["eval", "score", "--dataset", "OTB100", "--root", "r"]
    assert build_parser().parse_args(score).ope_rules == "pysot"
    assert build_parser().parse_args(score + ["--convention", "got10k"]).ope_rules == "got10k"
    assert build_parser().parse_args(score + ["--ope-rules", "lasot"]).ope_rules == "lasot"


def test_precision_reaches_the_engine_and_a_bad_pairing_is_an_error():
    engine = TrackerOptions(device="cpu", backend="torch", precision="bf16").build_engine()
    assert engine.name == "torch" and engine.precision == "bf16"
    assert TrackerOptions(device="cpu", backend="torch").build_engine().precision == "fp32"
    with pytest.raises(ValueError, match="int8"):
        TrackerOptions(device="cpu", backend="eager", precision="int8").build_engine()
