"""The browser chat (Gradio): asks qa/ for answers and index/ for uploads and removals."""
