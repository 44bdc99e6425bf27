"""Application intake: every channel converges on one submit_application service."""
