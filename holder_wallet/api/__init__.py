"""The wallet's local web app (`govid wallet serve`)."""
