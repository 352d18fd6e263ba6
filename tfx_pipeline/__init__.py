"""Chicago Taxi TFX pipeline: module file, custom components and runners."""
