"""The interface of verl 0.6's verl/tools/utils/tool_registry.py: a tool config YAML (a
``tools:`` list of class_name, config with type native or mcp, tool_schema) becomes tool
objects, each ``cls(config=..., tool_schema=OpenAIFunctionToolSchema)``. (verl reads the YAML
with OmegaConf; plain YAML gives the same containers.)"""

import importlib

import yaml

from verl.tools.schemas import OpenAIFunctionToolSchema


def get_tool_class(cls_name: str) -> type:
    module_name, class_name = cls_name.rsplit(".", 1)
    return getattr(importlib.import_module(module_name), class_name)


def initialize_tools_from_config(tools_config_file: str) -> list:
    config = yaml.safe_load(open(tools_config_file))
    tools = []
    for tool_config in config["tools"]:
        if tool_config["config"]["type"] != "native":
            raise NotImplementedError(tool_config["config"]["type"])
        schema = OpenAIFunctionToolSchema.model_validate(tool_config["tool_schema"])
        tools.append(get_tool_class(tool_config["class_name"])(config=tool_config["config"], tool_schema=schema))
    return tools
