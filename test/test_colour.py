"""The colour model (siamrpnpp_core.colour): its pure functions on constructed images, and what it changes in
the tracker: ranking a look-alike below the target, and the lost state on a box of other colours."""
import numpy as np
import pytest

from siamrpnpp_core import SiamRPNTracker, TrackState, get_preset
from siamrpnpp_core import colour as col
from siamrpnpp_core.config import TrackerConfig
from test_tracker import ScriptedModel

GREY, RED, BLUE = (128, 128, 128), (0, 0, 255), (255, 0, 0)


def scene(distractor=True) -> np.ndarray:
    """Grey 640x480 image, a red 40x40 target at (300, 200) and a blue 40x40 look-alike 60 px to its right."""
    image = np.full((480, 640, 3), GREY, np.uint8)
    image[200:240, 300:340] = RED
    if distractor:
        image[200:240, 360:400] = BLUE
    return image


def test_box_mask_covers_the_box_clipped_to_the_image():
    mask = col.box_mask((10, 20, 3), (2, 3, 6, 4))  # x 0..5 (clipped from -1), y 1..5
    assert mask.dtype == np.uint8 and mask.shape == (10, 20)
    assert mask.sum() == 5 * 4 and mask[1:5, 0:5].all()
    assert not col.box_mask((10, 20), (100, 100, 4, 4)).any()


def test_colour_histogram_counts_masked_pixels_only():
    image = scene()
    hist = col.colour_histogram(image, col.box_mask(image.shape, (309.5, 219.5, 80, 40)), 16)  # grey | red
    assert hist.shape == (16, 16, 16) and hist.sum() == pytest.approx(1)
    assert hist[0, 0, 15] == pytest.approx(0.5) and hist[8, 8, 8] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="empty"):
        col.colour_histogram(image, np.zeros(image.shape[:2], np.uint8), 16)


def test_object_likelihood_is_target_share_and_half_where_unseen():
    target, surround = np.array([0.6, 0.4, 0.0]), np.array([0.2, 0.0, 0.0])
    assert col.object_likelihood(target, surround) == pytest.approx([0.75, 1.0, 0.5])


def test_target_model_tells_the_target_from_its_surroundings():
    image = scene()
    target, likelihood = col.target_model(image, (319.5, 219.5, 40, 40), 160, 16)
    assert target[0, 0, 15] == pytest.approx(1)
    assert likelihood[0, 0, 15] == 1 and likelihood[15, 0, 0] == 0 and likelihood[8, 8, 8] == 0
    assert likelihood[0, 15, 0] == 0.5  # green: in neither


def test_likelihood_map_quantises_each_channel():
    table = np.arange(4 ** 3, dtype=np.float32).reshape(4, 4, 4)
    image = np.array([[[0, 63, 64], [255, 128, 191]]], np.uint8)  # bins (0, 0, 1) and (3, 2, 2)
    assert col.likelihood_map(image, table).tolist() == [[1.0, 3 * 16 + 2 * 4 + 2]]


def test_box_means_equal_the_mean_of_each_clipped_box():
    values = np.random.default_rng(0).random((30, 40)).astype(np.float32)
    boxes = np.array([[10.0, 15.0, 8.0, 6.0], [0.0, 0.0, 10.0, 10.0], [39.0, 29.0, 6.0, 4.0], [100.0, 5.0, 4.0, 4.0]]).T
    expected = [values[12:18, 6:14].mean(), values[0:5, 0:5].mean(), values[27:30, 36:40].mean(), 0.0]
    assert col.box_means(values, boxes) == pytest.approx(expected, rel=1e-6)


def test_similarity_is_one_for_equal_and_zero_for_disjoint_histograms():
    image = scene()
    red = col.colour_histogram(image, col.box_mask(image.shape, (319.5, 219.5, 40, 40)), 16)
    blue = col.colour_histogram(image, col.box_mask(image.shape, (379.5, 219.5, 40, 40)), 16)
    assert col.similarity(red, red) == pytest.approx(1) and col.similarity(red, blue) == 0


def tracker_on_red(**colour) -> tuple[SiamRPNTracker, ScriptedModel]:
    """A scripted network on :func:`scene`, started on the red target, no cosine window (ranking alone)."""
    cfg = TrackerConfig(**{**get_preset("siamrpn_r50_l234_dwxcorr").tracker.__dict__, "window_influence": 0.0,
                           **colour})
    model = ScriptedModel()
    model.background_logit = -5.0
    tracker = SiamRPNTracker(model, cfg)
    tracker.init(scene(), (300, 200, 40, 40))  # s_z 80: one image px is 1.59 crop px
    return tracker, model


# Crop cells are 8 px: the blue square's centre, 60 image px right, is 12 cells right of the target's.
ON_TARGET, ON_LOOKALIKE = (2, 0, 0, 2.0, (0, 0, 0, 0)), (2, 0, 12, 2.5, (0, 0, 0, 0))


@pytest.mark.parametrize("colour_weight, centre_x", [(0.0, 379.5), (0.5, 319.5)])
def test_colour_weight_ranks_the_target_above_a_better_scored_lookalike(colour_weight, centre_x):
    tracker, model = tracker_on_red(colour_weight=colour_weight)
    model.plan = [ON_TARGET, ON_LOOKALIKE]  # scores 0.88 and 0.92
    x, _, w, _ = tracker.track(scene()).bbox
    assert x + w / 2 == pytest.approx(centre_x, abs=1)


@pytest.mark.parametrize("min_similarity, state", [(0.0, TrackState.TRACKING), (0.5, TrackState.LOST)])
def test_a_box_of_other_colours_is_reported_lost_whatever_its_score(min_similarity, state):
    tracker, model = tracker_on_red(colour_min_similarity=min_similarity, lr=1.0)
    model.plan = (2, 0, 12, 6.0, (0, 0, 0, 0))  # score 0.998 on the blue square
    result = tracker.track(scene())
    assert result.score == pytest.approx(0.9975, abs=1e-3)  # the network's score is reported as it is
    assert result.state is state
    model.plan = (2, 0, -12, 6.0, (0, 0, 0, 0))  # back on the red square
    assert tracker.track(scene()).state is TrackState.TRACKING


def test_colour_options_are_validated():
    with pytest.raises(ValueError, match="colour_weight"):
        TrackerConfig(colour_weight=1.5)
    with pytest.raises(ValueError, match="colour_bins"):
        TrackerConfig(colour_bins=1)
