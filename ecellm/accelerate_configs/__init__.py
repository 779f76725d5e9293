"""``accelerate launch --config_file`` configs for the training recipes: DDP, FSDP, DeepSpeed ZeRO-3."""
