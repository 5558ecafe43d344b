"""The browser chat (Gradio): calls qa/ only."""
