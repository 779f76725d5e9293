"""Training recipes shipped with ecellm (YAML data, one file per recipe): ``ecellm.train("S")``."""
