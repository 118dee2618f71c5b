FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 SHOPCRM_DATA_DIR=/data
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# collectstatic needs settings to load; these build-time values never reach a container.
RUN SHOPCRM_PRODUCTION=1 ALLOWED_HOSTS=build SECRET_KEY=build-only-build-only-build-only-build-only-build-only \
    python manage.py collectstatic --noinput -v0 && python manage.py compile_translations
RUN useradd --create-home shopcrm && mkdir -p /data && chown shopcrm /data
USER shopcrm
EXPOSE 8000
CMD ["gunicorn", "shopcrm.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
