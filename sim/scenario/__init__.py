"""Scenario files: units, presets, validated models and loading."""
from .loader import ScenarioError, load_scenario, parse_scenario, scenario_files
from .models import STAGES, Scenario

__all__ = ["STAGES", "Scenario", "ScenarioError", "load_scenario", "parse_scenario", "scenario_files"]
