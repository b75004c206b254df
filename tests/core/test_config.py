"""Every setting is a dataclass field, read by one function that names a typo and its fix."""
import pytest

from cloudatlas.config import Recipe, StudentConfig, from_dict, qualify
from cloudatlas.errors import ConfigError

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def _recipe(tmp_path, text: str):
    path = tmp_path / "r.toml"
    path.write_text('[data]\n[[data.source]]\nname = "a"\npath = "a"\n' + text)
    return Recipe.load(path)


@pytest.mark.parametrize("text, message", [
    ("[student]\nepoch = 3\n", "unknown key 'epoch'; did you mean 'epochs'?"),
    ("[studnet]\narch = 'x'\n", "unknown key 'studnet'; did you mean 'student'?"),
    ("[student]\nepochs = 'three'\n", "expected int"),
    ("[data]\nconflicts = 'sometimes'\n", "'sometimes' is not one of"),
    ("[distill]\nalpha = true\n", "expected float"),
    ("[[data.source]]\nname = 'b'\npath = 'b'\ntrust = 'coarse'\n", "needs groups"),
    ("[student]\nselect_on = 'test'\n", "select_on = 'test'"),       # the benchmark never chooses anything
])
def test_a_wrong_recipe_names_the_key_and_the_fix(tmp_path, text, message):
    if text.startswith("[data]"):
        path = tmp_path / "r.toml"
        path.write_text(text + '[[data.source]]\nname = "a"\npath = "a"\n')
        with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
            Recipe.load(path)
        return
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("?", r"\?")):
        _recipe(tmp_path, text)


def test_the_bundled_recipe_reads_and_round_trips_through_a_run_folder(tmp_path):
    recipe = Recipe.load(ROOT / "recipes" / "bundled.toml")
    assert recipe.gate is not None and recipe.teacher.probes and recipe.data.conflicts == "soft"
    (tmp_path / "config.json").write_text(__import__("json").dumps(recipe.to_dict()))
    again = Recipe.from_run(tmp_path)
    assert again.to_dict() == recipe.to_dict()
    assert again.resolve(again.data.sources[0].path) == recipe.resolve(recipe.data.sources[0].path)


def test_overrides_are_checked_and_can_add_the_gates(tmp_path):
    recipe = Recipe.from_folder(tmp_path)
    recipe.override(**{qualify("epochs"): 3, qualify("valid_frac"): 0.3, "gate.not_sky": "elsewhere",
                       qualify("target_accept"): 0.95})
    assert recipe.student.epochs == 3 and recipe.data.valid_frac == 0.3
    assert recipe.gate.not_sky == "elsewhere" and recipe.gate.target_accept == 0.95
    with pytest.raises(ConfigError, match="expected int"):
        recipe.override(**{"student.epochs": 2.5})
    with pytest.raises(ConfigError, match="did you mean 'epochs'"):
        qualify("epoch")
    with pytest.raises(ConfigError, match="needs a \\[gate\\] table"):
        Recipe.from_folder(tmp_path).override(**{"gate.target_accept": 0.9})


def test_flat_names_mean_the_student_first():
    assert qualify("seed") == "student.seed" and qualify("gate.seed") == "gate.seed"
    assert from_dict(StudentConfig, {"img_size": 320}).img_size == 320
