"""One module per page of the Streamlit app; each has a `render()` that ui/app.py hands to st.navigation."""
