"""Scenario files: units, presets, validated models and loading."""
from .loader import ScenarioError, dump_scenario, load_scenario, parse_scenario, read_scenario_data, scenario_files
from .models import STAGES, Scenario

__all__ = ["STAGES", "Scenario", "ScenarioError", "dump_scenario", "load_scenario", "parse_scenario", "read_scenario_data",
           "scenario_files"]
