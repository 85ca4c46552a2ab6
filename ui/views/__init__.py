"""One module per page of the Streamlit app (ui/app.py hands the files to st.navigation), plus shared parts.

Not named pages/: Streamlit would take a pages/ folder beside ui/app.py for a legacy multipage app.
"""
