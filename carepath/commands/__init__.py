"""The sub-commands of `carepath`: each adds its parser (`add_parsers`) and its handler."""
